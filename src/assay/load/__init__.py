"""Loading: safe YAML, evidence readers, validation with locations, the project."""

from .evidence import EvidenceIndex, Record, SourceFile
from .project import Project, ProjectFile, load_project

__all__ = ["EvidenceIndex", "Project", "ProjectFile", "Record", "SourceFile", "load_project"]
