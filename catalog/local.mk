# catalog: rules arrive with its issue
