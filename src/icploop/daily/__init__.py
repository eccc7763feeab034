"""The daily loop: load what is new, tag, deliver, watch, check the micro-review trigger and the
implementation clocks, in one idempotent run (``icploop run``, ``icploop serve --schedule``)."""
