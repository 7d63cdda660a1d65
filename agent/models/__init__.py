"""Model backends: litellm (any provider), deterministic (scripted), replay (saved trajectory)."""
