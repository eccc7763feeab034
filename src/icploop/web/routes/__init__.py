"""Server-rendered pages, one module per area; every router passes through ``guard_page``."""
