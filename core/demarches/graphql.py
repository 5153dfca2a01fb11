"""GraphQL of demarches (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
