"""Tell: public neighbourhood pages, "what your local team did this week" posts and perceptions
survey estimates. Pure parts (disclosure, survey statistics, posts, neighbourhood figures) and one
service (`service.py`) that the CLI, the public web pages and the static export share. Nothing
reaches the public without passing `disclosure`."""
