"""Pathways insights service: policy simulation and k-anonymous statistics, from the bus only."""
