"""The demo company: a realistic B2B SaaS business with planted, known effects."""
