"""Tests of pipeline/quality/."""
