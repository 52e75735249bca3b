"""Prioritised screening: the ranking model, the stopping criterion, the random-sample check, and replays on labelled sets."""
