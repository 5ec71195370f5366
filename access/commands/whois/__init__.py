"""``python -m access whois``: subject (the audit event), roles (what the plan knows), cloudtrail, correlate, render,
command."""
