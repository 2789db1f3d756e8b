module gosym

go 1.19
