"""Alignment on long-term value: the retention-adjusted scorecard (per AE, lead source or
campaign) and the measurement of go-to-market experiments on segments. Pure analytics: frames and
an explicit ``as_of`` in, frozen results out."""
