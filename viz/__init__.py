"""Pure rendering helpers: Timeline → what the browser draws (layout, player payload, charts).

Nothing here imports Streamlit, so every view can be rebuilt and tested without a server.
"""
