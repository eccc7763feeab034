"""Bad-fit flags: records, routing, the outbox and delivery channels."""
