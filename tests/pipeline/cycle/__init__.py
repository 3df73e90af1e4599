"""Tests of pipeline/cycle/."""
