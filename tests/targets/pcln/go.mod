module pcln

go 1.19
