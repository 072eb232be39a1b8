"""Privacy: who may see which document text (access), masking of personal data (mask, logs), retention of
closed conversations (retention) and the data-subject rights export and erase (subject)."""
