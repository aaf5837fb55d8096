# etc: rules arrive with its issue
