"""Pure domain of insights: replay, disclosure control, rendering (no IO)."""
