# npm ci from the committed lock file into DEST (a build folder).
# Usage: cmake -DNPM=npm -DSRC=<tests/schemas> -DDEST=<build dir> -P npm_ci.cmake
file(MAKE_DIRECTORY ${DEST})
foreach(f package.json package-lock.json validate.mjs)
  configure_file(${SRC}/${f} ${DEST}/${f} COPYONLY)
endforeach()
execute_process(
  COMMAND ${NPM} ci --prefix ${DEST} --no-audit --no-fund --loglevel=error
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci failed (${rc}); the npm registry must be reachable")
endif()
