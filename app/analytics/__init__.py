"""Admin analytics: deflection (honestly split), escalation by queue, SLA, CSAT, 👎 answers, content gaps, re-index."""
