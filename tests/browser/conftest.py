import pytest

from tests.browser.harness import launch, serve


@pytest.fixture(scope="session")
def server():
    s = serve()
    yield f"http://127.0.0.1:{s.server_port}"
    s.shutdown()


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    b = launch(playwright)
    yield b
    b.close()


@pytest.fixture(scope="session")
def kernel_page(browser, server):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/tests/browser/kernels.html")
    page.wait_for_function("window.ready === true", timeout=30000)
    assert not errors, errors
    yield page
    page.close()
