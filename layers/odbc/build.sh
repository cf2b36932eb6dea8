#!/usr/bin/env bash
# Builds the SQL Server ODBC layer into OUT (default /asset-output): unixODBC, Microsoft's
# ODBC Driver 18 with the shared libraries it needs beyond Lambda's base image, pyodbc, and
# an odbcinst.ini naming the driver. Run on Amazon Linux 2023 as root, by the CDK app at
# deploy time (infra/constructs/odbc_layer.py: in the amazonlinux:2023 image, or directly on
# an Amazon Linux 2023 build host), and only when aws.accept_microsoft_odbc_licence is true,
# which is what sets ACCEPT_EULA=Y.
#
# Reproducible: the versions are pinned here, and the layer records the exact packages it
# was built from (etc/odbc-layer-packages.txt, with their RPM digests). Changing a version
# changes this file, hence the asset hash, hence the layer; nothing else rebuilds it.
set -euo pipefail

OUT="${1:-/asset-output}"
MSODBCSQL_VERSION="18.4.1.1"
PYODBC_VERSION="5.2.0"
PYTHON_VERSION="3.12"

if [ "${ACCEPT_EULA:-}" != "Y" ]; then
    echo "odbc layer: Microsoft's licence is not accepted (ACCEPT_EULA=Y); set" \
         "aws.accept_microsoft_odbc_licence in config/<env>.yaml after reading" \
         "https://aka.ms/odbc18eula" >&2
    exit 1
fi

curl -fsSL https://packages.microsoft.com/config/rhel/9/prod.repo \
    -o /etc/yum.repos.d/mssql-release.repo
dnf install -y -q unixODBC "msodbcsql18-${MSODBCSQL_VERSION}" python3-pip findutils

mkdir -p "$OUT/lib" "$OUT/etc" "$OUT/python"
cp -a /opt/microsoft "$OUT/microsoft"
driver="$(find "$OUT/microsoft/msodbcsql18/lib64" -name 'libmsodbcsql-18.*.so*' | head -n 1)"
cp -P /usr/lib64/libodbc.so* /usr/lib64/libodbcinst.so* /usr/lib64/libltdl.so* "$OUT/lib/"
# The driver's own dependencies (Kerberos, for one) that Lambda's minimal image lacks; the C
# library and the loader come from the runtime itself.
ldd "$driver" | awk '/=>/ {print $3}' \
    | grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' \
    | xargs -r -I{} cp -L {} "$OUT/lib/"

cat > "$OUT/etc/odbcinst.ini" <<INI
[ODBC Driver 18 for SQL Server]
Description=Microsoft ODBC Driver 18 for SQL Server
Driver=/opt/${driver#"$OUT/"}
UsageCount=1
INI

python3 -m pip install --quiet --disable-pip-version-check --target "$OUT/python" \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --implementation cp \
    --python-version "$PYTHON_VERSION" --only-binary=:all: "pyodbc==${PYODBC_VERSION}"

rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE} %{SIGMD5}\n' unixODBC msodbcsql18 \
    > "$OUT/etc/odbc-layer-packages.txt"
echo "pyodbc ${PYODBC_VERSION}" >> "$OUT/etc/odbc-layer-packages.txt"
