"""The target's Redis: seed and clean-up data, and checksums across a release."""
