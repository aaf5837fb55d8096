# man: rules arrive with its issue
