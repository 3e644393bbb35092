# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Glance for the tests in this folder: see tests/glance/fixture.py.

On a failing test that used the server, the end of the server's log is
added to the report; the whole log stays in pytest's temporary directory.
"""

import pytest

from tests.glance import fixture


glance_server = fixture.glance_server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and 'glance_server' in item.fixturenames:
        for server in fixture.RUNNING_SERVERS:
            report.sections.append((
                'Glance API log, last %d lines of %s'
                % (fixture.LOG_TAIL_LINES, server.log_path),
                server.log_tail()))
    return report


def pytest_terminal_summary(terminalreporter):
    for record in fixture.SERVER_RECORDS:
        terminalreporter.write_line(record)
