"""Tests of pipeline/marts/."""
