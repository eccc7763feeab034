"""The 90-day fit tag: signals, the rubric, the tagging run, the watch list."""
