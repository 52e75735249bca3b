"""The screening page: a reviewer's session on the log (`session`) and the web app that serves it (`app`)."""
