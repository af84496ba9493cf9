package org.albertedge.core;

import java.util.ArrayList;
import java.util.List;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs the test classes named as arguments with JUnit 4 and ends with exactly "N passed, N failed"
 * (what run_java_tests.sh and `make test` read); exits 1 if anything failed or nothing ran.
 * run_java_tests.sh names every *Test.java it compiled, core's and the app's: no list here that a
 * new test class could be missing from.
 */
public final class RunTests {
  private RunTests() {}

  public static void main(String[] args) throws ClassNotFoundException {
    List<Class<?>> classes = new ArrayList<>();
    for (String name : args) {
      classes.add(Class.forName(name));
    }
    JUnitCore core = new JUnitCore();
    core.addListener(new RunListener() {
      private long started;

      @Override
      public void testStarted(Description d) {
        started = System.nanoTime();
      }

      @Override
      public void testFinished(Description d) {
        System.out.printf("ran  %s.%s (%.2f s)%n", d.getClassName(), d.getMethodName(),
            (System.nanoTime() - started) / 1e9);
      }

      @Override
      public void testFailure(Failure f) {
        System.out.println("FAIL " + f.getTestHeader() + ": " + f.getMessage());
        if (!(f.getException() instanceof AssertionError)) {
          System.out.println(f.getTrace());
        }
      }
    });
    Result result = core.run(classes.toArray(new Class<?>[0]));
    int failed = result.getFailureCount();
    int passed = result.getRunCount() - failed;
    System.out.println(passed + " passed, " + failed + " failed");
    System.exit(failed == 0 && result.getRunCount() > 0 ? 0 : 1);
  }
}
