"""Entities vs concepts: moved to :mod:`kgattn.graph.entities` (the entity linker, a lower
layer than evaluation, needs it too); this name stays so that existing imports keep working."""
from kgattn.graph.entities import (CLASS_TYPES, FREEBASE_INDIVIDUAL_TYPES, FREEBASE_KIND_PROPERTIES,  # noqa: F401
                                   FREEBASE_KIND_TYPES, EntityTest, entity_nodes)

__all__ = ["CLASS_TYPES", "FREEBASE_INDIVIDUAL_TYPES", "FREEBASE_KIND_PROPERTIES", "FREEBASE_KIND_TYPES",
           "EntityTest", "entity_nodes"]
