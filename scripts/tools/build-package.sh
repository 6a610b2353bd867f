#!/usr/bin/env bash
# Builds the reusable components into dist/ for `npm pack` (run by `npm run build` and `prepack`): compiled
# JavaScript with .d.ts, plus the files the components read at run time (their shell scripts, and the loader
# image's build context that LoaderImage builds from).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf dist
npx tsc -p tsconfig.build.json
for d in components/*/scripts; do
    mkdir -p "dist/$d"
    cp -R "$d/." "dist/$d/"
done
mkdir -p dist/images
cp -R images/loader dist/images/
echo "dist/: $(find dist -name '*.js' | wc -l) modules, $(find dist -name '*.d.ts' | wc -l) declarations"
