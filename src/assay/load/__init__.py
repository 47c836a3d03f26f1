"""Loading a project: configuration, file discovery, policies, workflows, waivers, and the
cross-checks between them; evidence is read through :mod:`assay.evidence`."""

from .discover import DiskSource, FileSource, MemorySource, ProjectFile
from .project import Project, load_files, load_project, load_source

__all__ = [
    "DiskSource",
    "FileSource",
    "MemorySource",
    "Project",
    "ProjectFile",
    "load_files",
    "load_project",
    "load_source",
]
