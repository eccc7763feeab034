"""The quarterly ICP review pack: evidence, proposals, rendering."""
