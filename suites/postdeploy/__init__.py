"""Post-Deployment Validation: immediate (T+10), extended (T+30), business (T+60)."""
