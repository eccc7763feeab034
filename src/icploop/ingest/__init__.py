"""Getting a company's data in: the canonical model, mappings and presets, validation, loading."""
