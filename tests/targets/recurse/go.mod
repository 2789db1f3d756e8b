module recurse

go 1.19
