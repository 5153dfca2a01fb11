"""GraphQL of households (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
