"""Dockerfile parsing: pure lexer, parser, directives, heredocs, variable expansion."""
