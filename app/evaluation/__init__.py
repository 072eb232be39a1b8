"""Evaluation suite behind `ayuda eval`: datasets (golden set, shared benchmarks), metrics (pure functions),
runner (pipeline per configuration), scoring (records → metrics), report (JSON, Markdown, PNGs), baseline (gate)."""
