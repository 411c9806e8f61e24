"""What the tests (tests/) and the benchmarks (bench/) share, so that neither imports the other.

smtp_servers  real SMTP servers on 127.0.0.1, working or failing on purpose; HOST and free_port()
services      PostgreSQL and Redis servers of their own (Debian's packages)
site          the site as real processes: gunicorn, db_worker, manage.py

Nothing here imports tests/ or bench/, and nothing here needs pytest.
"""
