"""Background work: index builds (re-index jobs), the active build every replica serves, and the periodic jobs
(outbox delivery, SLA, retention). One process (SQLite) runs them in threads; several replicas on PostgreSQL
run them in `ayuda worker` through procrastinate (app/jobs/queue.py)."""
