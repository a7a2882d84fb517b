"""Rehearse GitHub Actions workflows locally: see runner.py (jobs and steps), standins.py (actions)
and github.py (the repository, events and the recorded API)."""

from .github import Environment, GitHubState, Repository, pull_request, push, schedule, workflow_dispatch
from .runner import Host, Rehearsal, RunResult

__all__ = [
    "Environment",
    "GitHubState",
    "Host",
    "Rehearsal",
    "Repository",
    "RunResult",
    "pull_request",
    "push",
    "schedule",
    "workflow_dispatch",
]
