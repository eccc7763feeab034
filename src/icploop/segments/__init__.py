"""Value-based ICP discovery: segment search, thresholds and the statistics that keep them honest."""
