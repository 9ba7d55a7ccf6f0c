"""The run database: SQLAlchemy models, connection and migrations, queries for the dashboard and notebooks."""

from .database import Database, DatabaseError, open_database, redact
from .models import (
    ARTIFACT_KINDS,
    ApiToken,
    Artifact,
    Base,
    Bed,
    Mesh,
    Packing,
    RunStatus,
    Simulation,
    Sweep,
    Worker,
    utcnow,
)

__all__ = ["ARTIFACT_KINDS", "ApiToken", "Artifact", "Base", "Bed", "Database", "DatabaseError", "Mesh", "Packing", "RunStatus",
           "Simulation", "Sweep", "Worker", "open_database", "redact", "utcnow"]
