"""GraphQL of documents (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
