# The two commands. Everything else lives in scripts/.
.PHONY: run test
run: ## Set up what is missing and serve the workbench on http://127.0.0.1:3000
	scripts/run.sh
test: ## Set up what is missing and run every test (unit, integration, browser)
	scripts/test.sh
