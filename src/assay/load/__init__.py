"""Loading a project: configuration, file discovery, policies, workflows, waivers, and the
cross-checks between them; evidence is read through :mod:`assay.evidence`."""

from .project import Project, ProjectFile, load_project

__all__ = ["Project", "ProjectFile", "load_project"]
