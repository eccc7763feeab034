"""The versioned ICP document: criteria as data, versions, implementation tracking, outcomes."""
