"""Policy data shared by the services: which fields of each event (or read) each department role may see."""
