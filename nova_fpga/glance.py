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

"""Reading FPGA IP-core images from Glance (image API v2).

``fpga-cli.py burn`` validates what it programs: with Glance credentials in
its environment it fetches the image's record and data through
``python-glanceclient``; without them it treats the image id as an opaque
string (simulation). :func:`image_source_from_environment` makes that
decision.

Credentials are looked up in this order:

1. ``OS_IMAGE_URL`` and ``OS_AUTH_TOKEN``: a Glance endpoint used directly
   with that token, no Keystone involved (a Glance that runs without
   Keystone, as in the functional tests).
2. The variables and files every OpenStack client reads, through
   openstacksdk's configuration loader into a keystoneauth session:
   ``OS_CLOUD`` naming a cloud of ``clouds.yaml`` (the other ``OS_*``
   variables complete it), or without it ``OS_AUTH_URL`` (or
   ``OS_AUTH_TYPE``) with the usual ``OS_USERNAME``, ``OS_PASSWORD``,
   ``OS_PROJECT_NAME``... variables. ``OS_IMAGE_URL`` then overrides the
   image endpoint of the service catalog.

3. A cloud named ``fpga-cli`` in a ``clouds.yaml`` at the standard
   places, for fpga-cli run through rootwrap, which clears the environment
   (:mod:`nova_fpga.glance_credentials`).

Anything else, for example no ``OS_*`` variable at all, means no Glance.
Every failure is raised as a :class:`nova_fpga.exception.FpgaError`
subclass whose message names the image or the endpoint and the reason.
"""

import dataclasses
import io
import os
import typing
import urllib.parse

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session
from keystoneauth1 import token_endpoint
from openstack.config import loader as os_config_loader
from openstack import exceptions as os_exceptions

from nova_fpga import exception
from nova_fpga import glance_credentials


#: Largest image :meth:`GlanceImageSource.data` reads unless told otherwise.
#: The data is held in memory, and an IP-core package (bitstream plus a few
#: files) is far smaller than this.
DEFAULT_MAX_IMAGE_SIZE = 1024 ** 3

#: Seconds one HTTP request to Keystone or Glance may take unless
#: OS_API_TIMEOUT (or api_timeout in clouds.yaml) says otherwise. fpga-cli
#: runs while Nova waits on it: a hung Glance must turn into an error.
DEFAULT_API_TIMEOUT = 60

# Variables the configuration loader reads for itself and must not be
# passed to it again as cloud options.
_LOADER_VARIABLES = frozenset([
    'OS_CLOUD', 'OS_CLOUD_NAME', 'OS_CLIENT_CONFIG_FILE',
    'OS_CLIENT_SECURE_FILE', 'OS_IMAGE_URL',
])

# Prefixes the loader itself ignores: test-runner settings, not cloud ones.
_IGNORED_PREFIXES = ('OS_TEST', 'OS_STD', 'OS_LOG')


class ImageNotFound(exception.FpgaError):
    """Glance has no image with the requested id."""

    def __init__(self, image_id, reason):
        super().__init__(
            "Image %s not found in Glance: %s" % (image_id, reason))
        self.image_id = image_id


class GlanceUnavailable(exception.FpgaError):
    """Glance (or the Keystone in front of it) cannot answer."""

    def __init__(self, endpoint, reason):
        super().__init__(
            "Glance at %s is unavailable: %s" % (endpoint, reason))
        self.endpoint = endpoint


class ImageTooLarge(exception.FpgaError):
    """An image holds more data than the caller accepts to read."""

    def __init__(self, image_id, size, max_size):
        super().__init__(
            "Image %s is too large: %s bytes, at most %d accepted"
            % (image_id, size, max_size))
        self.image_id = image_id
        self.size = size
        self.max_size = max_size


class ImageDataUnavailable(exception.FpgaError):
    """An image exists but has no data to read (not active)."""

    def __init__(self, image_id, status):
        super().__init__(
            "Image %s has no data to read: its status is %r, not 'active'"
            % (image_id, status))
        self.image_id = image_id
        self.status = status


@dataclasses.dataclass(frozen=True)
class GlanceImage:
    """The parts of a Glance image record that FPGA validation uses.

    ``properties`` holds the image's extra (non-base) properties, for an
    FPGA image among them ``manifest``; Glance stores them as strings.
    """

    id: str
    name: typing.Optional[str]
    container_format: typing.Optional[str]
    owner: typing.Optional[str]
    properties: typing.Dict[str, typing.Any]
    status: typing.Optional[str] = None
    size: typing.Optional[int] = None


class GlanceImageSource:
    """Reads image records and data from one Glance endpoint."""

    def __init__(self, session, endpoint_description, **client_kwargs):
        """Wrap a keystoneauth session.

        :param session: keystoneauth1 session authenticating the requests.
        :param endpoint_description: how error messages name the endpoint
            when the session cannot tell (for example the cloud's name).
        :param client_kwargs: passed to the glanceclient v2 client
            (``endpoint_override``, ``interface``, ``region_name``).
        """
        self._session = session
        self._endpoint_description = endpoint_description
        self._client = glance_client.Client(
            '2', session=session, **client_kwargs)

    @property
    def endpoint(self):
        """The Glance URL in use, or a description when it is unknown.

        Finding the URL can need Keystone's catalog, so this is only asked
        once the session has authenticated.
        """
        try:
            url = self._client.http_client.get_endpoint()
        except Exception:
            # Any failure here (see _authenticate) leaves the configured
            # description as the best name for the endpoint.
            url = None
        return url or self._endpoint_description

    def get(self, image_id):
        """Return the :class:`GlanceImage` stored under ``image_id``.

        :raises ImageNotFound: Glance has no such image (or does not show it
            to these credentials).
        :raises GlanceUnavailable: Glance or Keystone cannot be reached or
            refuses the credentials.
        """
        record = self._call(image_id, self._client.images.get,
                            _quote_image_id(image_id))
        schema = getattr(record, 'schema', None) or {}
        base_properties = {
            name for name, definition in schema.get('properties', {}).items()
            if definition.get('is_base', True)}
        fields = dict(record)
        return GlanceImage(
            id=fields.get('id', image_id),
            name=fields.get('name'),
            container_format=fields.get('container_format'),
            owner=fields.get('owner'),
            properties={name: value for name, value in fields.items()
                        if name not in base_properties},
            status=fields.get('status'),
            size=fields.get('size'))

    def data(self, image_id, max_size=DEFAULT_MAX_IMAGE_SIZE):
        """Return the data of image ``image_id`` as bytes.

        The size Glance records is checked before anything is downloaded,
        and the download stops as soon as it passes ``max_size``, so an
        image larger than the caller accepts is never held in memory.
        glanceclient verifies the data against the image's recorded hash.

        :raises ImageTooLarge: the image holds more than ``max_size`` bytes.
        :raises ImageDataUnavailable: the image is not active.
        :raises ImageNotFound: there is no such image.
        :raises GlanceUnavailable: Glance cannot be reached or the download
            is broken.
        """
        image = self.get(image_id)
        if image.status != 'active':
            raise ImageDataUnavailable(image_id, image.status)
        if image.size is not None and image.size > max_size:
            raise ImageTooLarge(image_id, image.size, max_size)

        body = self._call(image_id, self._client.images.data,
                          _quote_image_id(image_id))
        if body is None:
            # Glance answers 204 No Content for an image without data.
            raise ImageDataUnavailable(image_id, image.status)
        buffer = io.BytesIO()
        chunks = iter(body)
        try:
            for chunk in chunks:
                buffer.write(chunk)
                if buffer.tell() > max_size:
                    raise ImageTooLarge(
                        image_id, 'more than %d' % max_size, max_size)
        except (OSError, glance_exc.BaseException,
                ksa_exc.ClientException) as error:
            # glanceclient reports a hash mismatch as IOError at the end of
            # the stream; a dropped connection surfaces here as well.
            raise GlanceUnavailable(
                self.endpoint,
                'reading the data of image %s failed: %s'
                % (image_id, error)) from error
        finally:
            # Closing the chunk generator closes the HTTP response, also
            # when the download stops early.
            close = getattr(chunks, 'close', None)
            if close is not None:
                close()
        return buffer.getvalue()

    def _authenticate(self, image_id):
        """Get a token (or reuse the session's) before asking Glance."""
        try:
            self._session.get_auth_headers()
        except Exception as error:
            # Auth plugins are chosen by name in the credentials and may
            # raise anything (keystoneauth's password plugin raises a bare
            # Exception for a missing password): all of it means Glance
            # cannot be asked, which the caller must hear as an FpgaError.
            # Looking the endpoint up would authenticate again: name the
            # endpoint the way the credentials do.
            raise GlanceUnavailable(
                self._endpoint_description,
                'authentication for image %s failed: %s'
                % (image_id, error)) from error

    def _call(self, image_id, method, *args):
        """Run a glanceclient call, turning its errors into FpgaErrors."""
        self._authenticate(image_id)
        try:
            return method(*args)
        except glance_exc.HTTPNotFound as error:
            raise ImageNotFound(image_id, _http_reason(error)) from error
        except glance_exc.HTTPException as error:
            raise GlanceUnavailable(
                self.endpoint, 'request for image %s answered HTTP %s: %s'
                % (image_id, error.code, _http_reason(error))) from error
        except (glance_exc.BaseException, ksa_exc.ClientException,
                os_exceptions.SDKException) as error:
            raise GlanceUnavailable(
                self.endpoint, 'request for image %s failed: %s'
                % (image_id, error)) from error


def image_source_from_environment(environ=os.environ):
    """Return a :class:`GlanceImageSource` built from ``environ``.

    :returns: None when ``environ`` holds no Glance credentials (fpga-cli
        then simulates, as the original tool did).
    :raises GlanceUnavailable: the credentials are present but unusable
        (an unknown cloud, a missing option).
    """
    environ = glance_credentials.glance_environment(environ)
    if environ is None:
        return None
    image_url = environ.get('OS_IMAGE_URL')
    timeout = _api_timeout(environ)
    if image_url and environ.get('OS_AUTH_TOKEN'):
        session = ksa_session.Session(
            auth=token_endpoint.Token(image_url, environ['OS_AUTH_TOKEN']),
            timeout=timeout)
        return GlanceImageSource(session, image_url,
                                 endpoint_override=image_url)
    return _image_source_from_cloud_config(environ, image_url, timeout)


def _image_source_from_cloud_config(environ, image_url, timeout):
    """Load OS_* variables and clouds.yaml the way OpenStack clients do."""
    cloud_name = environ.get('OS_CLOUD') or None
    if cloud_name:
        description = 'the image endpoint of cloud %r' % cloud_name
    elif environ.get('OS_AUTH_URL'):
        description = ('the image endpoint in the catalog of Keystone at %s'
                       % environ['OS_AUTH_URL'])
    else:
        description = 'the image endpoint of the %s auth plugin' % (
            environ.get('OS_AUTH_TYPE'))
    # The loader reads os.environ by itself; it is told not to, and gets the
    # same variables from ``environ`` instead, so that the caller decides
    # what the credentials are. As with the OpenStack clients, the OS_*
    # variables complete the cloud OS_CLOUD names, and without OS_CLOUD they
    # alone are the cloud: clouds.yaml is then not read, or a lone cloud in
    # it would be picked and mixed with them.
    config_files = []
    secure_files = []
    if cloud_name:
        config_files = list(os_config_loader.CONFIG_FILES)
        if environ.get('OS_CLIENT_CONFIG_FILE'):
            config_files.insert(0, environ['OS_CLIENT_CONFIG_FILE'])
        secure_files = list(os_config_loader.SECURE_FILES)
        if environ.get('OS_CLIENT_SECURE_FILE'):
            secure_files.insert(0, environ['OS_CLIENT_SECURE_FILE'])
    options = {
        name[len('OS_'):].lower(): value
        for name, value in environ.items()
        if name.startswith('OS_') and value
        and name not in _LOADER_VARIABLES
        and not name.startswith(_IGNORED_PREFIXES)}
    if environ.get('OS_API_TIMEOUT'):
        options['api_timeout'] = timeout
    try:
        config = os_config_loader.OpenStackConfig(
            config_files=config_files, secure_files=secure_files,
            load_yaml_config=bool(cloud_name), load_envvars=False)
        cloud = config.get_one(cloud=cloud_name, **options)
        if not cloud.config.get('api_timeout'):
            cloud.config['api_timeout'] = timeout
        session = cloud.get_session()
    except (os_exceptions.SDKException, ksa_exc.ClientException) as error:
        raise GlanceUnavailable(
            description, 'cannot use the credentials: %s' % error) from error
    client_kwargs = {
        'interface': cloud.get_interface('image'),
        'region_name': cloud.get_region_name('image'),
    }
    endpoint_override = image_url or cloud.get_endpoint('image')
    if endpoint_override:
        client_kwargs['endpoint_override'] = endpoint_override
    return GlanceImageSource(session, endpoint_override or description,
                             **client_kwargs)


def _api_timeout(environ):
    value = environ.get('OS_API_TIMEOUT')
    if not value:
        return DEFAULT_API_TIMEOUT
    try:
        return float(value)
    except ValueError:
        raise GlanceUnavailable(
            environ.get('OS_IMAGE_URL') or environ.get('OS_AUTH_URL')
            or 'the configured cloud',
            'OS_API_TIMEOUT=%r is not a number of seconds' % value)


def _quote_image_id(image_id):
    # glanceclient pastes the id into the URL path as it is: quoting keeps
    # an id such as "../schemas/image" from naming another API resource.
    return urllib.parse.quote(str(image_id), safe='')


def _http_reason(error):
    """The short reason Glance gave, without its HTML error page."""
    details = getattr(error, 'details', None) or str(error)
    lines = [line.strip() for line in str(details).splitlines()
             if line.strip() and not line.strip().startswith('<')]
    return ' '.join(lines) or 'HTTP %s' % getattr(error, 'code', '?')
