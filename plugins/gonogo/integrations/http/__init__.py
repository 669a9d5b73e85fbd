"""HTTP endpoints: probes many at once, short smoke loads, documented external
APIs, workflows of several calls, and pages in a real browser."""
